from cardreader.cli import main

main()
